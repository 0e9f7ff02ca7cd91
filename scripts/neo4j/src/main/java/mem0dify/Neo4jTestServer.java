package mem0dify;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.harness.Neo4j;
import org.neo4j.harness.Neo4jBuilders;

/**
 * Starts an in-process Neo4j (the official test harness) with Bolt on 127.0.0.1 and prints one line, the Bolt URL,
 * on stdout once it accepts connections. It runs until SIGTERM/SIGINT (or, with --watch-stdin, until its standard
 * input closes: a test that spawned it cannot leave it behind), then shuts the database down. Authentication is off,
 * as in any harness server: a test database on loopback with throwaway data.
 *
 * Usage: java -cp ... mem0dify.Neo4jTestServer [--port N] [--watch-stdin]   (no port or 0: a free one)
 */
public final class Neo4jTestServer {
  private Neo4jTestServer() {}

  public static void main(String[] args) throws Exception {
    int port = 0;
    boolean watchStdin = false;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--port") && i + 1 < args.length) port = Integer.parseInt(args[++i]);
      else if (args[i].equals("--watch-stdin")) watchStdin = true;
      else throw new IllegalArgumentException("unknown argument: " + args[i]);
    }
    Path dir = Files.createTempDirectory("mem0-neo4j-");
    Neo4j neo4j = Neo4jBuilders.newInProcessBuilder(dir)
        .withDisabledServer()
        .withConfig(BoltConnector.enabled, true)
        .withConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
        .withConfig(HttpConnector.enabled, false)
        .withConfig(GraphDatabaseSettings.pagecache_memory, 64L * 1024 * 1024)
        .build();
    Thread stopper = new Thread(neo4j::close, "neo4j-stop");
    Runtime.getRuntime().addShutdownHook(stopper);
    System.out.println(neo4j.boltURI());
    System.out.flush();
    if (!watchStdin) {
      Thread.currentThread().join(); // until a signal runs the shutdown hook
    }
    waitForStdinToClose();
    System.exit(0); // runs the shutdown hook
  }

  /** The parent (a test, or the shell wrapper with a FIFO) holds stdin open while it wants the server. */
  private static void waitForStdinToClose() {
    InputStream in = System.in;
    byte[] buffer = new byte[256];
    try {
      while (in.read(buffer) >= 0) {
        // ignore whatever is written
      }
    } catch (IOException ignored) {
      // a broken stdin means the parent is gone
    }
  }
}
