package org.densenet.train.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;

/** Fetches a dataset archive over HTTP(S) and checks its MD5 before it takes the final name. */
final class Download {
    private Download() {
    }

    static Path fetch(String url, Path target, String md5) {
        try {
            Files.createDirectories(target.toAbsolutePath().getParent());
        } catch (IOException e) {
            throw DataException.at(target.getParent(), "cannot create the download folder: " + e.getMessage());
        }
        Path part = target.resolveSibling(target.getFileName() + ".part");
        System.err.println("downloading " + url + " to " + target);
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(20))
                .followRedirects(HttpClient.Redirect.NORMAL).build();
        try {
            HttpResponse<InputStream> resp = client.send(HttpRequest.newBuilder(URI.create(url)).GET().build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            if (resp.statusCode() != 200) {
                resp.body().close();
                throw new DataException("download of " + url + " failed: HTTP status " + resp.statusCode());
            }
            MessageDigest digest = MessageDigest.getInstance("MD5");
            try (InputStream in = new DigestInputStream(resp.body(), digest); OutputStream out = Files.newOutputStream(part)) {
                in.transferTo(out);
            }
            String got = HexFormat.of().formatHex(digest.digest());
            if (!got.equalsIgnoreCase(md5)) {
                Files.deleteIfExists(part);
                throw new DataException("download of " + url + " is corrupt: MD5 " + got + ", expected " + md5);
            }
            Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return target;
        } catch (IOException e) {
            throw new DataException("cannot download " + url + " (" + describe(e) + "); check the network, or download it"
                    + " elsewhere and pass --data with the folder holding it", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DataException("download of " + url + " was interrupted");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no MD5", e);
        }
    }

    private static String describe(IOException e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null || m.isBlank() ? "" : ": " + m);
    }
}
