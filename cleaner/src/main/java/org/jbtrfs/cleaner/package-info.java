/** jbtrfs cleaner module. */
package org.jbtrfs.cleaner;
