package org.jbtrfs.junit;

import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Gives each test a freshly loaded btrfs module and, by default, a formatted and mounted filesystem,
 * injected as parameters ({@link org.jbtrfs.fs.BtrfsModule}, {@link org.jbtrfs.fs.Btrfs},
 * {@link org.jbtrfs.core.BlockDevice}, {@link KernelSymptoms}); after the test it unmounts what is
 * still mounted and unloads the module, and fails the test if the kernel reported anything the test
 * did not declare with {@link ExpectKernelSymptoms}. On a class or a method (the method's wins).
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Inherited
@ExtendWith(BtrfsExtension.class)
public @interface BtrfsTest {
    /** {@link #mount()} value: format, but do not mount. */
    String UNMOUNTED = "-";

    /** Fixes to revert (the kernel before those patches). */
    FixSwitch[] revert() default {};

    Crc32cImpl crc32c() default Crc32cImpl.ACCELERATED;

    /** CONFIG_BTRFS_ASSERT. */
    boolean assertions() default true;

    /** Format the device. Without it nothing is mounted either. */
    boolean mkfs() default true;

    /** Mount options ("" for a plain RW mount, "ro,commit=5"...), or {@link #UNMOUNTED}. */
    String mount() default "";

    /** Size of the in-memory device, bytes. */
    long deviceSize() default 256L << 20;

    String device() default "sdc";
}
