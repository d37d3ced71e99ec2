/** jbtrfs fs module. */
package org.jbtrfs.fs;
