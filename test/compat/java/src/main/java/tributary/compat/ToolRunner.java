package tributary.compat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.utils.internals.Exit;

/**
 * Runs Kafka's command-line tools in one JVM, the way their shell scripts would (`main` of the
 * class the script names), so a test pays for one JVM start instead of one per command. Reads one
 * JSON request per line on stdin: {"main": class, "args": [...], "stdin": text}; answers one line
 * `TOOLRESULT {"exit": code, "out": stdout, "err": stderr}`. Exit.exit ends the command, not the
 * JVM; the shutdown hooks a command registers run when it ends.
 */
public final class ToolRunner {
  static final class ToolExit extends RuntimeException {
    final int code;
    ToolExit(int code) { super(null, null, false, false); this.code = code; }
  }

  static volatile Integer firstExit;
  static final List<Runnable> hooks = new java.util.concurrent.CopyOnWriteArrayList<>();

  /** The JVM's registered shutdown hooks (needs --add-opens java.base/java.lang=ALL-UNNAMED). */
  @SuppressWarnings("unchecked")
  static Set<Thread> runtimeHooks() {
    try {
      Class<?> c = Class.forName("java.lang.ApplicationShutdownHooks");
      java.lang.reflect.Field f = c.getDeclaredField("hooks");
      f.setAccessible(true);
      synchronized (c) {
        return new HashSet<>(((Map<Thread, Thread>) f.get(null)).keySet());
      }
    } catch (ReflectiveOperationException | RuntimeException e) {
      return new HashSet<>();
    }
  }

  public static void main(String[] argv) throws Exception {
    ObjectMapper json = new ObjectMapper();
    PrintStream realOut = System.out;
    PrintStream realErr = System.err;
    InputStream realIn = System.in;
    // The first Exit.exit of a command is its exit code: some tools catch what it throws and exit
    // again with 1 (TopicCommand's execute exits 0 inside a catch-all).
    Exit.setExitProcedure((code, message) -> { if (firstExit == null) firstExit = code; throw new ToolExit(code); });
    Exit.setHaltProcedure((code, message) -> { if (firstExit == null) firstExit = code; throw new ToolExit(code); });
    // Shutdown hooks a command registers run when it ends, as they would at the JVM's exit (the
    // console producer closes, and so flushes, its producer only in one).
    Exit.setShutdownHookAdder((name, runnable) -> hooks.add(runnable));
    BufferedReader requests = new BufferedReader(new InputStreamReader(realIn, StandardCharsets.UTF_8));
    realOut.println("TOOLRUNNER READY");
    realOut.flush();
    String line;
    while ((line = requests.readLine()) != null) {
      if (line.isBlank()) continue;
      JsonNode req = json.readTree(line);
      List<String> args = new ArrayList<>();
      req.get("args").forEach(a -> args.add(a.asText()));
      String stdin = req.hasNonNull("stdin") ? req.get("stdin").asText() : "";
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      int code = 0;
      firstExit = null;
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
      Set<Thread> runtimeHooksBefore = runtimeHooks();
      try {
        Class.forName(req.get("main").asText()).getMethod("main", String[].class).invoke(null, (Object) args.toArray(new String[0]));
      } catch (java.lang.reflect.InvocationTargetException e) {
        Throwable cause = e.getCause();
        if (cause instanceof ToolExit) {
          code = ((ToolExit) cause).code;
        } else {
          code = 255;
          cause.printStackTrace(System.err);
        }
      } catch (ToolExit e) {
        code = e.code;
      } catch (Throwable t) {
        code = 254;
        t.printStackTrace(System.err);
      } finally {
        for (Runnable hook : hooks) {
          try {
            hook.run();
          } catch (Throwable t) {
            t.printStackTrace(System.err);
          }
        }
        hooks.clear();
        // Tools that call Runtime.addShutdownHook themselves (the verifiable producer prints its
        // summary in one): run the hooks this command added, and unregister them.
        for (Thread hook : runtimeHooks()) {
          if (runtimeHooksBefore.contains(hook)) continue;
          Runtime.getRuntime().removeShutdownHook(hook);
          hook.start();
          try {
            hook.join(60_000);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        System.out.flush();
        System.err.flush();
        System.setOut(realOut);
        System.setErr(realErr);
        System.setIn(realIn);
      }
      if (firstExit != null) code = firstExit;
      ObjectNode res = json.createObjectNode();
      res.put("exit", code);
      res.put("out", out.toString(StandardCharsets.UTF_8));
      res.put("err", err.toString(StandardCharsets.UTF_8));
      realOut.println("TOOLRESULT " + json.writeValueAsString(res));
      realOut.flush();
    }
  }
}
