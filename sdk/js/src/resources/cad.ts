/** `client.cad`: parse a DXF (sent, or uploaded before) and preview an uploaded one as SVG. */

import * as routes from "../routes.js";
import type { Transport } from "../transport.js";
import type { CadDrawing } from "../types.js";
import { type FileInput, formWithFile } from "../uploads.js";

export class Cad {
  constructor(private readonly transport: Transport) {}

  /** Entities, layers and bounds of a DXF: one sent now, or an uploaded one (`{fileId}`). */
  async parse(
    source: FileInput | { fileId: string },
    options: { filename?: string } = {},
  ): Promise<CadDrawing> {
    if (typeof source === "object" && "fileId" in source) {
      return this.transport.data(routes.parseUploadedDrawing(source.fileId));
    }
    const form = await formWithFile(source, options.filename);
    return this.transport.data(routes.parseSentDrawing(form));
  }

  /** An uploaded DXF drawn as SVG. */
  preview(fileId: string): Promise<string> {
    return this.transport.text(routes.drawingPreview(fileId));
  }
}
