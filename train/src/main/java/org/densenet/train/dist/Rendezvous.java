package org.densenet.train.dist;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.densenet.engine.cuda.NcclWatchdog.seconds;

/**
 * Hands rank 0's NCCL unique id to every other rank over one TCP connection each: rank 0 listens
 * on the master port (all interfaces), the others connect, say who they are, and wait. When all
 * {@code world - 1} have arrived rank 0 sends the id to each; when the time is up it tells those
 * present which ranks never came, and throws with the same words. The id travels unauthenticated,
 * as with torchrun's store: the master port must not be reachable from outside the cluster.
 *
 * <p>With {@code NCCL_COMM_ID=host:port} set, NCCL itself makes the same id on every rank and
 * runs its own bootstrap there, so this exchange is skipped ({@link #neededWith}).
 */
public final class Rendezvous {
    private static final int MAGIC = 0x444E5256; // "DNRV"
    private static final int PROTOCOL = 1;
    private static final int MAX_PAYLOAD = 1 << 20;
    private static final long ANSWER_GRACE_MS = 5_000;

    private Rendezvous() {
    }

    /** A rendezvous that failed; the message names the ranks that did not arrive, or what went wrong. */
    public static final class Failure extends RuntimeException {
        public Failure(String message) {
            super(message);
        }
    }

    /** Whether the id must be sent at all: not when NCCL_COMM_ID lets NCCL make the same id everywhere. */
    public static boolean neededWith(Map<String, String> env) {
        String commId = env.get("NCCL_COMM_ID");
        return commId == null || commId.isBlank();
    }

    /**
     * Rank 0 passes the payload and gets it back once every rank has it; every other rank passes
     * null and gets rank 0's payload. Each side gives up after {@code timeout}.
     */
    public static byte[] share(int rank, int world, String host, int port, byte[] payload, Duration timeout) {
        if (world < 1 || rank < 0 || rank >= world) throw new IllegalArgumentException("rank " + rank + " of " + world);
        if ((rank == 0) != (payload != null)) throw new IllegalArgumentException("rank 0, and only rank 0, supplies the payload");
        if (world == 1) return payload;
        long deadline = System.nanoTime() + timeout.toNanos();
        return rank == 0 ? serve(world, port, payload, timeout, deadline) : join(rank, world, host, port, timeout, deadline);
    }

    private static byte[] serve(int world, int port, byte[] payload, Duration timeout, long deadline) {
        if (payload.length > MAX_PAYLOAD) throw new IllegalArgumentException("a payload of " + payload.length + " bytes");
        Map<Integer, Socket> arrived = new TreeMap<>();
        Map<Integer, String> from = new TreeMap<>();
        try (ServerSocket server = new ServerSocket()) {
            server.setReuseAddress(true);
            try {
                server.bind(new InetSocketAddress(port));
            } catch (IOException e) {
                throw new Failure("rank 0 could not listen on port " + port + ": " + e.getMessage()
                        + " (is another run using it? choose another with MASTER_PORT or --master)");
            }
            while (arrived.size() < world - 1) {
                long left = deadline - System.nanoTime();
                if (left <= 0) throw timedOut(world, port, timeout, arrived, from);
                server.setSoTimeout((int) Math.max(1, left / 1_000_000));
                Socket s;
                try {
                    s = server.accept();
                } catch (SocketTimeoutException e) {
                    throw timedOut(world, port, timeout, arrived, from);
                }
                admit(s, world, arrived, from, deadline);
            }
            for (Socket s : arrived.values()) {
                DataOutputStream out = new DataOutputStream(s.getOutputStream());
                out.writeByte(0);
                out.writeInt(payload.length);
                out.write(payload);
                out.flush();
            }
            return payload;
        } catch (IOException e) {
            throw new Failure("rendezvous on port " + port + " failed: " + e.getMessage());
        } finally {
            for (Socket s : arrived.values()) closeQuietly(s);
        }
    }

    /** Reads a newcomer's greeting; a bad one is answered with the reason and not counted. */
    private static void admit(Socket s, int world, Map<Integer, Socket> arrived, Map<Integer, String> from, long deadline) throws IOException {
        try {
            s.setSoTimeout((int) Math.max(1, Math.min(5_000, (deadline - System.nanoTime()) / 1_000_000)));
            DataInputStream in = new DataInputStream(s.getInputStream());
            if (in.readInt() != MAGIC || in.readInt() != PROTOCOL) {
                closeQuietly(s); // not one of ours
                return;
            }
            int rank = in.readInt(), theirWorld = in.readInt();
            String host = in.readUTF();
            String refusal = theirWorld != world ? "rank " + rank + " on " + host + " expects " + theirWorld + " ranks, rank 0 expects " + world
                    : rank < 1 || rank >= world ? "rank " + rank + " on " + host + " is outside 1.." + (world - 1)
                    : arrived.containsKey(rank) ? "rank " + rank + " arrived twice, from " + from.get(rank) + " and from " + host
                    : null;
            if (refusal != null) {
                refuse(s, refusal);
                return;
            }
            s.setSoTimeout(0);
            arrived.put(rank, s);
            from.put(rank, host);
        } catch (IOException e) {
            closeQuietly(s);
        }
    }

    private static Failure timedOut(int world, int port, Duration timeout, Map<Integer, Socket> arrived, Map<Integer, String> from) {
        List<Integer> missing = new ArrayList<>();
        for (int r = 1; r < world; r++) if (!arrived.containsKey(r)) missing.add(r);
        StringBuilder present = new StringBuilder("0");
        for (var e : from.entrySet()) present.append(", ").append(e.getKey()).append(" (").append(e.getValue()).append(')');
        String why = (missing.size() == 1 ? "rank " : "ranks ") + join(missing) + " of " + world + " did not arrive within " + seconds(timeout)
                + " at port " + port + " (arrived: " + present + ")";
        for (Socket s : arrived.values()) refuse(s, why);
        return new Failure("rendezvous failed: " + why);
    }

    private static byte[] join(int rank, int world, String host, int port, Duration timeout, long deadline) {
        String me = "rank " + rank + " of " + world;
        String where = host + ":" + port;
        InetAddress address;
        try {
            address = InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new Failure(me + ": cannot resolve the master host '" + host + "'");
        }
        Socket s = null;
        while (s == null) {
            long left = deadline - System.nanoTime();
            if (left <= 0) throw new Failure(me + ": nothing listened at " + where + " (rank 0) within " + seconds(timeout));
            Socket attempt = new Socket();
            try {
                attempt.connect(new InetSocketAddress(address, port), (int) Math.max(1, Math.min(2_000, left / 1_000_000)));
                s = attempt;
            } catch (ConnectException | NoRouteToHostException | SocketTimeoutException e) {
                closeQuietly(attempt);
                sleep(Math.min(100, Math.max(1, left / 1_000_000)));
            } catch (IOException e) {
                closeQuietly(attempt);
                throw new Failure(me + ": cannot reach rank 0 at " + where + ": " + e.getMessage());
            }
        }
        try (Socket c = s) {
            DataOutputStream out = new DataOutputStream(c.getOutputStream());
            out.writeInt(MAGIC);
            out.writeInt(PROTOCOL);
            out.writeInt(rank);
            out.writeInt(world);
            out.writeUTF(localName());
            out.flush();
            // Rank 0 may have started later and counts its own time; it answers by then, with the id or with
            // who is missing, so wait its whole timeout and a grace for the answer to travel.
            c.setSoTimeout((int) Math.min(Integer.MAX_VALUE, timeout.toMillis() + ANSWER_GRACE_MS));
            DataInputStream in = new DataInputStream(c.getInputStream());
            if (in.readByte() != 0) throw new Failure(me + ": rank 0 at " + where + " says: " + in.readUTF());
            int n = in.readInt();
            if (n < 0 || n > MAX_PAYLOAD) throw new Failure(me + ": rank 0 at " + where + " sent a payload of " + n + " bytes");
            byte[] payload = new byte[n];
            in.readFully(payload);
            return payload;
        } catch (SocketTimeoutException e) {
            throw new Failure(me + ": rank 0 at " + where + " did not answer within " + seconds(timeout.plusMillis(ANSWER_GRACE_MS)));
        } catch (java.io.EOFException e) {
            throw new Failure(me + ": rank 0 at " + where + " closed the connection without sending the id");
        } catch (IOException e) {
            throw new Failure(me + ": the connection to rank 0 at " + where + " broke: " + e.getMessage());
        }
    }

    private static void refuse(Socket s, String why) {
        try {
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeByte(1);
            out.writeUTF(why);
            out.flush();
        } catch (IOException ignored) {
            // it hears nothing and times out by itself
        }
        closeQuietly(s);
    }

    private static String localName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "an unnamed host";
        }
    }

    private static String join(List<Integer> ranks) {
        StringBuilder sb = new StringBuilder();
        for (int r : ranks) sb.append(sb.isEmpty() ? "" : ", ").append(r);
        return sb.toString();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Failure("interrupted while waiting for rank 0");
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing a socket that already failed
        }
    }
}
