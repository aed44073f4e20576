package io.memorid.client;

import java.util.Map;
import java.util.Objects;

/**
 * The shape of the model's answer: {@link #text()}, {@link #jsonObject()} or {@link
 * #jsonSchema(String, Map, boolean)}.
 *
 * @param type the kind of format
 * @param schemaName with {@link Type#JSON_SCHEMA}: the schema's name
 * @param schema with {@link Type#JSON_SCHEMA}: the JSON Schema, as maps and lists
 * @param strict with {@link Type#JSON_SCHEMA}: follow the schema strictly
 */
public record ResponseFormat(
    Type type, String schemaName, Map<String, Object> schema, boolean strict) {

  /** The kind of answer format. */
  public enum Type {
    TEXT,
    JSON_OBJECT,
    JSON_SCHEMA
  }

  public ResponseFormat {
    Objects.requireNonNull(type, "type");
    schemaName = schemaName == null ? "" : schemaName;
    schema = schema == null ? Map.of() : Json.copyObject(schema);
  }

  public static ResponseFormat text() {
    return new ResponseFormat(Type.TEXT, "", Map.of(), false);
  }

  /** Any JSON object. */
  public static ResponseFormat jsonObject() {
    return new ResponseFormat(Type.JSON_OBJECT, "", Map.of(), false);
  }

  /** JSON that follows {@code schema}. */
  public static ResponseFormat jsonSchema(String name, Map<String, ?> schema, boolean strict) {
    return new ResponseFormat(Type.JSON_SCHEMA, name, Json.copyObject(schema), strict);
  }
}
