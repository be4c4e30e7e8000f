/*
 * A Jest snapshot serializer for synthesized templates: asset hashes (64 hex digits: the
 * Lambda bundle, nested template and image asset hashes) print as <asset-hash>, so a snapshot
 * changes only when the template does, not when a container or handler source is edited.
 */

const ASSET_HASH = /[0-9a-f]{64}/;
const ASSET_HASHES = /[0-9a-f]{64}/g;

const serializer: import('pretty-format').Plugin = {
  test: (value: unknown) => typeof value === 'string' && ASSET_HASH.test(value),
  serialize: (value: string, config, indentation, depth, refs, printer) =>
    printer(value.replace(ASSET_HASHES, '<asset-hash>'), config, indentation, depth, refs),
};

module.exports = serializer;
