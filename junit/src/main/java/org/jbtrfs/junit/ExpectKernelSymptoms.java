package org.jbtrfs.junit;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The kernel symptoms a test provokes on purpose. Each must show by the end of the test (after umount
 * and rmmod), and nothing else may: an undeclared symptom fails the test, as does a declared one that
 * never showed. On a class, it applies to every test method (a method's own annotation adds to it).
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
public @interface ExpectKernelSymptoms {
    KernelSymptom[] value();
}
