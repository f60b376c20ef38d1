/** `client.files`: upload (a Blob/File, bytes or a path), info, delete, download. */

import * as routes from "../routes.js";
import type { Transport } from "../transport.js";
import type { FileInfo } from "../types.js";
import { type FileInput, formWithFile } from "../uploads.js";

export interface UploadOptions {
  /** image, document or cad; checked against the content. */
  type?: "image" | "document" | "cad";
  description?: string;
  /** The name to send (its extension matters); taken from a File or a path if not given. */
  filename?: string;
}

export class Files {
  constructor(private readonly transport: Transport) {}

  async upload(file: FileInput, options: UploadOptions = {}): Promise<FileInfo> {
    const { type, description, filename } = options;
    const form = await formWithFile(file, filename, { type, description });
    return this.transport.data(routes.uploadFile(form));
  }

  get(fileId: string): Promise<FileInfo> {
    return this.transport.data(routes.fileInfo(fileId));
  }

  async delete(fileId: string): Promise<void> {
    await this.transport.data<null>(routes.deleteFile(fileId));
  }

  /** The bytes of a file (a `FileInfo`, its id, or its `<id>.<ext>` name). */
  async download(
    file: FileInfo | string,
    options: { range?: routes.ByteRange } = {},
  ): Promise<Uint8Array> {
    const name =
      typeof file !== "string"
        ? file.filename
        : file.includes(".")
          ? file
          : (await this.get(file)).filename;
    return this.transport.bytes(routes.downloadFile(name, options.range));
  }
}
