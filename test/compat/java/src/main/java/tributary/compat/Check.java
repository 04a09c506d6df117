package tributary.compat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/** Tiny assertion helpers; each failed check prints why, and the node test reports it. */
final class Check {
  private Check() {}

  static final class Failure extends RuntimeException {
    Failure(String message) { super(message); }
  }

  static void that(boolean condition, String message) {
    if (!condition) throw new Failure(message);
  }

  static void equal(Object expected, Object actual, String what) {
    if (expected == null ? actual != null : !expected.equals(actual)) {
      throw new Failure(what + ": expected <" + expected + "> but was <" + actual + ">");
    }
  }

  static void waitFor(BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new Failure("timed out waiting for " + what);
      Thread.sleep(50);
    }
  }

  interface Body { String run() throws Exception; }

  /** Runs one named check and prints `RESULT<TAB>name<TAB>OK|FAIL<TAB>detail` (one line). */
  static boolean run(String name, Body body) {
    long start = System.nanoTime();
    String status;
    String detail;
    try {
      String d = body.run();
      status = "OK";
      detail = d == null ? "" : d;
    } catch (Throwable t) {
      status = "FAIL";
      List<String> chain = new ArrayList<>();
      for (Throwable c = t; c != null && chain.size() < 4; c = c.getCause()) chain.add(c.getClass().getName() + ": " + c.getMessage());
      detail = String.join(" <- ", chain);
      System.err.println("check " + name + " failed:");
      t.printStackTrace(System.err);
    }
    long ms = (System.nanoTime() - start) / 1_000_000;
    System.out.println("RESULT\t" + name + "\t" + status + "\t" + ms + "ms " + detail.replace('\n', ' ').replace('\t', ' '));
    System.out.flush();
    return status.equals("OK");
  }
}
