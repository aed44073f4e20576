package io.memorid.client;

import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON-shaped Java values (maps with string keys, lists, strings, numbers, booleans, null) and
 * their protobuf {@code Struct} form, for tool and response schemas.
 */
final class Json {

  private Json() {}

  /** A deep, unmodifiable copy (order kept, nulls allowed) that is checked to be JSON-shaped. */
  static Map<String, Object> copyObject(Map<String, ?> map) {
    Map<String, Object> copy = new LinkedHashMap<>();
    for (Map.Entry<String, ?> entry : map.entrySet()) {
      if (entry.getKey() == null) {
        throw new IllegalArgumentException("a JSON object cannot have a null key");
      }
      copy.put(entry.getKey(), copyValue(entry.getValue(), entry.getKey()));
    }
    return Collections.unmodifiableMap(copy);
  }

  private static Object copyValue(Object value, String path) {
    if (value == null || value instanceof String || value instanceof Boolean) {
      return value;
    }
    if (value instanceof Number number) {
      return number.doubleValue();
    }
    if (value instanceof Map<?, ?> map) {
      Map<String, Object> copy = new LinkedHashMap<>();
      for (Map.Entry<?, ?> entry : map.entrySet()) {
        if (!(entry.getKey() instanceof String key)) {
          throw new IllegalArgumentException("a JSON object key must be a string, at " + path);
        }
        copy.put(key, copyValue(entry.getValue(), path + "." + key));
      }
      return Collections.unmodifiableMap(copy);
    }
    if (value instanceof Iterable<?> items) {
      List<Object> copy = new ArrayList<>();
      int i = 0;
      for (Object item : items) {
        copy.add(copyValue(item, path + "[" + i++ + "]"));
      }
      return Collections.unmodifiableList(copy);
    }
    throw new IllegalArgumentException(
        "not a JSON value at " + path + ": " + value.getClass().getName());
  }

  static Struct toStruct(Map<String, Object> map) {
    Struct.Builder struct = Struct.newBuilder();
    map.forEach((key, value) -> struct.putFields(key, toValue(value)));
    return struct.build();
  }

  private static Value toValue(Object value) {
    if (value == null) {
      return Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();
    }
    if (value instanceof String s) {
      return Value.newBuilder().setStringValue(s).build();
    }
    if (value instanceof Boolean b) {
      return Value.newBuilder().setBoolValue(b).build();
    }
    if (value instanceof Number n) {
      return Value.newBuilder().setNumberValue(n.doubleValue()).build();
    }
    if (value instanceof Map<?, ?> m) {
      Struct.Builder struct = Struct.newBuilder();
      m.forEach((key, item) -> struct.putFields((String) key, toValue(item)));
      return Value.newBuilder().setStructValue(struct).build();
    }
    ListValue.Builder list = ListValue.newBuilder();
    for (Object item : (Iterable<?>) value) {
      list.addValues(toValue(item));
    }
    return Value.newBuilder().setListValue(list).build();
  }

  static Map<String, Object> toMap(Struct struct) {
    Map<String, Object> map = new LinkedHashMap<>();
    struct.getFieldsMap().forEach((key, value) -> map.put(key, fromValue(value)));
    return Collections.unmodifiableMap(map);
  }

  private static Object fromValue(Value value) {
    switch (value.getKindCase()) {
      case STRING_VALUE:
        return value.getStringValue();
      case BOOL_VALUE:
        return value.getBoolValue();
      case NUMBER_VALUE:
        return value.getNumberValue();
      case STRUCT_VALUE:
        return toMap(value.getStructValue());
      case LIST_VALUE:
        List<Object> list = new ArrayList<>();
        for (Value item : value.getListValue().getValuesList()) {
          list.add(fromValue(item));
        }
        return Collections.unmodifiableList(list);
      default:
        return null;
    }
  }
}
