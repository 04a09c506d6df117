// kafkajs ships gzip only; these plug our own native codecs into it, so the tests can produce
// snappy, lz4 and zstd batches with kafkajs too.
import kafkajs from 'kafkajs';
import { compress, decompress, Codec } from '../../src/protocol/records/compression.js';

const { CompressionCodecs, CompressionTypes } = kafkajs;

let registered = false;

export function registerKafkajsCodecs(): void {
  if (registered) return;
  registered = true;
  const make = (codec: Codec) => () => ({
    async compress(encoder: { buffer: Buffer }) {
      return compress(codec, encoder.buffer);
    },
    async decompress(buffer: Buffer) {
      return decompress(codec, buffer);
    },
  });
  CompressionCodecs[CompressionTypes.Snappy] = make(Codec.Snappy);
  CompressionCodecs[CompressionTypes.LZ4] = make(Codec.Lz4);
  CompressionCodecs[CompressionTypes.ZSTD] = make(Codec.Zstd);
}
