package org.jbtrfs.core;

/** printk levels. */
public enum LogLevel {
    EMERG, ALERT, CRIT, ERR, WARNING, NOTICE, INFO, DEBUG;

    /** The word btrfs_printk puts after "BTRFS": "BTRFS info (device sdc): ...". */
    public String btrfsWord() {
        return switch (this) {
            case EMERG -> "emergency";
            case ALERT -> "alert";
            case CRIT -> "critical";
            case ERR -> "error";
            case WARNING -> "warning";
            case NOTICE -> "notice";
            case INFO -> "info";
            case DEBUG -> "debug";
        };
    }
}
