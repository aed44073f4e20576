package io.memorid.client;

import java.util.Locale;
import java.util.Objects;

/** How a recall fuses its score parts into one score (see {@link Ranking}). */
public enum Fusion {
  /** The parts as they are. */
  ABSOLUTE("absolute"),
  /** Each part's list scaled to [0, 1] per query before fusing. */
  MIN_MAX("min_max");

  private final String wireName;

  Fusion(String wireName) {
    this.wireName = wireName;
  }

  /** The name other memorid clients and the server's config use: {@code absolute}, {@code min_max}. */
  public String wireName() {
    return wireName;
  }

  /**
   * The fusion named {@code absolute} or {@code min_max} (any case).
   *
   * @throws IllegalArgumentException naming the value when it is neither
   */
  public static Fusion of(String name) {
    Objects.requireNonNull(name, "fusion");
    for (Fusion fusion : values()) {
      if (fusion.wireName.equals(name.toLowerCase(Locale.ROOT))) {
        return fusion;
      }
    }
    throw new IllegalArgumentException("unknown fusion \"" + name + "\": use \"absolute\" or \"min_max\"");
  }
}
