/** jbtrfs workqueue module. */
package org.jbtrfs.workqueue;
