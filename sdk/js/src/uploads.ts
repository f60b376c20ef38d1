/** What the upload and CAD helpers accept as a file: a Blob/File, bytes, or (Node) a path. */

/** A `Blob` or `File`, the bytes themselves, or a path to a file (Node only). */
export type FileInput = Blob | ArrayBuffer | Uint8Array | string;

interface NodeFs {
  openAsBlob(path: string): Promise<Blob>;
}

/** `node:fs`, loaded only when a path is given, so that browsers never ask for it. */
async function nodeFs(): Promise<NodeFs> {
  const specifier = "node:fs";
  return (await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier)) as NodeFs;
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/**
 * A multipart form with the file as `file` and the given text fields. The server checks the
 * extension of the file's name, so bytes (and a Blob that is not a File) need `filename`.
 */
export async function formWithFile(
  file: FileInput,
  filename: string | undefined,
  fields: Record<string, string | undefined> = {},
): Promise<FormData> {
  let blob: Blob;
  let name = filename;
  if (typeof file === "string") {
    blob = await (await nodeFs()).openAsBlob(file);
    name ??= baseName(file);
  } else if (file instanceof Blob) {
    blob = file;
    name ??= "name" in file && typeof file.name === "string" ? file.name : undefined;
  } else {
    blob = new Blob([file as BlobPart]);
  }
  if (!name) {
    throw new TypeError("pass filename (with its extension, e.g. 'plan.dxf') for this file");
  }
  const form = new FormData();
  form.append("file", blob, name);
  for (const [field, value] of Object.entries(fields)) {
    if (value !== undefined) form.append(field, value);
  }
  return form;
}
