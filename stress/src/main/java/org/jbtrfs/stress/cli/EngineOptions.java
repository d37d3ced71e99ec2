package org.jbtrfs.stress.cli;

import java.nio.file.Path;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.KernelVersion;
import org.jbtrfs.core.LatencyModel;
import org.jbtrfs.stress.StressOptions;
import picocli.CommandLine.Option;

/** What a cycle runs on and where the results go: the options {@code run} and {@code replay} share. */
final class EngineOptions {
    @Option(names = "--kernel", paramLabel = "V", converter = Converters.Kernel.class,
        description = "start from kernel profile 5.10, 5.11 or 5.12 (the six seed fixes only); default: every fix applied, proposed "
            + "ones too, on 5.12 code paths")
    KernelVersion kernel;

    @Option(names = "--apply", paramLabel = "LIST", converter = Converters.Switches.class,
        description = "fixes to apply on top of the --kernel profile before --revert, comma-separated kebab names, or all "
            + "(--kernel 5.11 --apply all: every fix, proposed ones too, on 5.11's code paths; needs --kernel)")
    Converters.SwitchSet apply;

    @Option(names = "--revert", paramLabel = "LIST", converter = Converters.Switches.class,
        description = "fixes to revert (from the profile), comma-separated kebab names, or all, or none (default none)")
    Converters.SwitchSet revert;

    @Option(names = "--crc32c", paramLabel = "IMPL", converter = Converters.Crc.class,
        description = "generic (default; the use-after-free shows) or accelerated")
    Crc32cImpl crc32c = Crc32cImpl.GENERIC;

    @Option(names = "--workload", paramLabel = "W", converter = Converters.Workload.class,
        description = "lanes (default: concurrent lanes per filesystem), full (single-driver seeded cycle) or minimal (benchmark cycle)")
    StressOptions.Workload workload = StressOptions.Workload.LANES;

    @Option(names = "--lanes", paramLabel = "LIST", converter = Converters.Lanes.class,
        description = "the lanes a lanes cycle may run: lifecycle,file,subvol,quota,sync,dev2,quota2,scrub,file2,balance,balance2,replace or all (default all; lifecycle always runs; quota2 only with quota, file2 only with file)")
    Converters.LaneList lanes;

    @Option(names = "--faults", paramLabel = "LIST", converter = Converters.Faults.class,
        description = "the fault-injection sites a cycle may arm, comma-separated: del-orphan-item-enomem (the default), "
            + "start-transaction-enospc, commit-transaction-eio, orphan-cleanup-enomem, write-and-wait-transaction-eio, "
            + "alloc-tree-block-enospc, bio-write-eio, bio-read-eio, or all, or none; a fault's errno is then "
            + "a normal outcome of an operation and its error reports are not failures (lanes workload; with several filesystems each "
            + "cycle arms its own filesystem's devices)")
    Converters.FaultSet faults;

    @Option(names = "--swarm", paramLabel = "P",
        description = "swarm testing: the probability that a lane of a lanes cycle leaves some of its operations out, each with "
            + "probability 1/2 (0 to 1; default 0: every cycle draws as before the option existed, so earlier replay tokens replay)")
    double swarm;

    @Option(names = "--latency", paramLabel = "MODEL", converter = Converters.Latency.class,
        description = "device and kworker wake-up latency: virtio (default for lanes and full: a virtio disk's read 60 us, flush 300 us,"
            + " wake-up 200 us), off (default for minimal), or read,write,flush,wakeup in microseconds")
    LatencyModel latency;

    @Option(names = "--filesystems", paramLabel = "N", description = "filesystems driven concurrently in one module (default 1)")
    int filesystems = 1;

    @Option(names = "--hung-task-timeout", paramLabel = "SECONDS", converter = Converters.Seconds.class,
        description = "an operation blocked this long is a hung task: reported, the module panicked and reloaded, the run goes on "
            + "(default 10)")
    double hungTaskSeconds = StressOptions.DEFAULT_HUNG_TASK_NANOS / 1e9;

    @Option(names = "--stall-threshold", paramLabel = "SECONDS", converter = Converters.Seconds.class,
        description = "an operation blocked in a kernel sleep this long that then completed is a stall (default 0.4; "
            + "with a --latency model slower than virtio's, scaled by its I/O cost, at most half the hung-task timeout)")
    Double stallSeconds;

    @Option(names = "--json", paramLabel = "FILE", description = "also write the summary as JSON")
    Path json;

    @Option(names = "--report", paramLabel = "DIR", description = "write an HTML page per failure class and an index.html to DIR")
    Path report;

    /** The builder with these options; a range error is the caller's usage error. */
    StressOptions.Builder builder() {
        Cli.range("--filesystems", filesystems, 1, 64);
        if (!(swarm >= 0 && swarm <= 1)) {
            throw Cli.usage("--swarm must be a probability from 0 to 1, not " + swarm);
        }
        if (swarm > 0 && workload != StressOptions.Workload.LANES) {
            throw Cli.usage("--swarm needs the lanes workload (its lanes' operation mixes)");
        }
        if (stallSeconds != null && stallSeconds == 0) {
            throw Cli.usage("--stall-threshold must be positive");
        }
        if (hungTaskSeconds == 0) {
            throw Cli.usage("--hung-task-timeout must be positive");
        }
        StressOptions.Builder b = new StressOptions.Builder().kernel(kernel).crc32c(crc32c).workload(workload).filesystems(filesystems)
            .hungTaskNanos((long) (hungTaskSeconds * 1e9)).json(json).report(report).latency(latency).swarm(swarm);
        LatencyModel effective = latency != null ? latency : StressOptions.defaultLatency(workload);
        b.stallNanos(stallSeconds != null ? (long) (stallSeconds * 1e9)
            : StressOptions.defaultStallNanos(effective, (long) (hungTaskSeconds * 1e9)));
        if (apply != null) {
            if (kernel == null) {
                throw Cli.usage("--apply needs --kernel (without a profile every fix is applied already)");
            }
            b.applied(apply.value());
        }
        if (revert != null) {
            b.reverted(revert.value());
        }
        if (lanes != null) {
            b.lanes(lanes.value());
        }
        if (faults != null) {
            boolean errorPaths = faults.value().stream().anyMatch(f -> f != org.jbtrfs.core.Fault.DEL_ORPHAN_ITEM_ENOMEM);
            if (errorPaths && workload == StressOptions.Workload.MINIMAL) {
                throw Cli.usage("--faults " + String.join(",", StressOptions.faultNames(faults.value()))
                    + " needs the lanes or the full workload (their cycles arm the faults)");
            }
            b.faults(faults.value());
        }
        return b;
    }
}
