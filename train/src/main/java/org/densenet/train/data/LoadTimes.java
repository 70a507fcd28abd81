package org.densenet.train.data;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * Time spent reading image files and decoding them, summed over the decodes given it, as wall time
 * and as the thread's CPU time (which a busy machine's other work does not inflate): what
 * {@code bench data} reports for each stage. One thread's; not for sharing.
 */
public final class LoadTimes {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private long read, decode, readCpu, decodeCpu, wall0, cpu0;

    /** This thread's CPU time, nanoseconds. */
    public static long cpuNow() {
        return THREADS.getCurrentThreadCpuTime();
    }

    void start() {
        wall0 = System.nanoTime();
        cpu0 = cpuNow();
    }

    /** The file is in memory: the time since {@link #start} was reading it. */
    void read() {
        long w = System.nanoTime(), c = cpuNow();
        read += w - wall0;
        readCpu += c - cpu0;
        wall0 = w;
        cpu0 = c;
    }

    /** The pixels are out: the time since {@link #read} was decoding. */
    void decoded() {
        decode += System.nanoTime() - wall0;
        decodeCpu += cpuNow() - cpu0;
    }

    /** Reading files into memory, wall time. */
    public long readNanos() {
        return read;
    }

    /** Decoding them into pixels, including the copy of the decoder's output into the heap, wall time. */
    public long decodeNanos() {
        return decode;
    }

    public long readCpuNanos() {
        return readCpu;
    }

    public long decodeCpuNanos() {
        return decodeCpu;
    }
}
