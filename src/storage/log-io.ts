// The file operations of the write path, behind one object so tests can inject failures
// (ENOSPC, EROFS, EIO) without touching the real file system: appends (writev), fsync, the
// truncation that takes a failed append back, creating a segment file at a roll, and writing
// index files when a segment is sealed or closed.
import fs from 'node:fs';
import { writeFileAtomic } from '../common/atomic-file.js';

const SEGMENT_FILE_FLAGS = fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC;

export interface LogIo {
  writev(fd: number, buffers: Buffer[], position: number): number;
  fsync(fd: number): Promise<void>;
  ftruncate(fd: number, length: number): void;
  /** Opens (creating or truncating) a new segment's .log file for reading and writing. */
  createSegmentFile(file: string): number;
  /**
   * The same, off the event loop: the first segment of a new partition, created on its first
   * write (see LogWriter.createFiles), when thousands may be created at once.
   */
  createSegmentFileAsync(file: string): Promise<number>;
  /** Replaces an index file (written to a temporary file, fsynced, renamed). */
  writeIndexFile(file: string, data: Buffer): Promise<void>;
}

export const defaultLogIo: LogIo = {
  writev: (fd, buffers, position) => fs.writevSync(fd, buffers, position),
  fsync: (fd) =>
    new Promise((resolve, reject) => {
      fs.fsync(fd, (err) => (err ? reject(err) : resolve()));
    }),
  ftruncate: (fd, length) => fs.ftruncateSync(fd, length),
  createSegmentFile: (file) => fs.openSync(file, SEGMENT_FILE_FLAGS, 0o644),
  createSegmentFileAsync: (file) =>
    new Promise((resolve, reject) => {
      fs.open(file, SEGMENT_FILE_FLAGS, 0o644, (err, fd) => (err ? reject(err) : resolve(fd)));
    }),
  writeIndexFile: (file, data) => writeFileAtomic(file, data, { syncDir: false }),
};
