// The few file operations of the write path, behind one object so tests can inject failures
// (ENOSPC, EIO) without touching the real file system.
import fs from 'node:fs';

export interface LogIo {
  writev(fd: number, buffers: Buffer[], position: number): number;
  fsync(fd: number): Promise<void>;
  ftruncate(fd: number, length: number): void;
}

export const defaultLogIo: LogIo = {
  writev: (fd, buffers, position) => fs.writevSync(fd, buffers, position),
  fsync: (fd) =>
    new Promise((resolve, reject) => {
      fs.fsync(fd, (err) => (err ? reject(err) : resolve()));
    }),
  ftruncate: (fd, length) => fs.ftruncateSync(fd, length),
};
