/** jbtrfs qgroup module. */
package org.jbtrfs.qgroup;
