package io.memorid.client;

/**
 * One bad field of a request, from the server's {@code google.rpc.BadRequest}.
 *
 * @param field the field's path, e.g. {@code messages[1].role}
 * @param description why it is bad
 */
public record FieldViolation(String field, String description) {}
