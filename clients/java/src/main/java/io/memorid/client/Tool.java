package io.memorid.client;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.util.JsonFormat;
import java.util.Map;
import java.util.Objects;

/**
 * A function the model may call.
 *
 * @param name the function's name
 * @param description what it does, for the model
 * @param parameters the JSON Schema of its arguments, as JSON-shaped Java values (maps, lists,
 *     strings, numbers, booleans, null)
 * @param strict ask the provider to follow the schema strictly, where it supports that
 */
public record Tool(String name, String description, Map<String, Object> parameters, boolean strict) {

  public Tool {
    Objects.requireNonNull(name, "name");
    description = description == null ? "" : description;
    parameters = parameters == null ? Map.of() : Json.copyObject(parameters);
  }

  /** A function whose arguments follow {@code parameters}, a JSON Schema as maps and lists. */
  public static Tool function(String name, String description, Map<String, ?> parameters) {
    return new Tool(name, description, Json.copyObject(parameters), false);
  }

  /** A function whose arguments follow the JSON Schema {@code parametersJson} (JSON text). */
  public static Tool fromJsonSchema(String name, String description, String parametersJson) {
    Struct.Builder schema = Struct.newBuilder();
    try {
      JsonFormat.parser().merge(parametersJson, schema);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("the parameters of tool " + name + " are not a JSON object", e);
    }
    return new Tool(name, description, Json.toMap(schema.build()), false);
  }

  /** The same tool, asking the provider to follow the schema strictly. */
  public Tool strictSchema() {
    return new Tool(name, description, parameters, true);
  }
}
