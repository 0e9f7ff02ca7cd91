/**
 * Identifier shapes shared by every floor: a memory id is a UUID (any version, either case).
 * @module
 */

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
