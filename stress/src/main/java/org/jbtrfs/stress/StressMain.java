package org.jbtrfs.stress;

public final class StressMain {
    public static void main(String[] args) { System.out.println("placeholder"); }
}
