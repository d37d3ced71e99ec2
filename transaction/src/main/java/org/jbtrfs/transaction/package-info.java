/** jbtrfs transaction module. */
package org.jbtrfs.transaction;
