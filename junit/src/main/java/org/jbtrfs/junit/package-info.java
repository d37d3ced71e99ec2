/**
 * API: the JUnit 5 extension for test suites that embed jbtrfs — {@link org.jbtrfs.junit.BtrfsTest} gives each test
 * a fresh module, device and mounted filesystem, tears them down with fstests' dmesg check, and fails the test on a
 * WARN, BUG, oops or leak unless declared with {@link org.jbtrfs.junit.ExpectKernelSymptoms} or
 * {@link org.jbtrfs.junit.KernelSymptoms#expect}. See docs/junit-extension.md.
 */
package org.jbtrfs.junit;
