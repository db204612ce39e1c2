import { FsBlobStore } from "@chat4all/adapters/blob-fs"
import { Files } from "@chat4all/domain"
import { Layer } from "effect"
import * as DownloadAuthentication from "./DownloadAuthentication.js"
import * as ExpiryWorker from "./ExpiryWorker.js"
import { FileContentHandlers, FilesHandlers, TusHandlers } from "./FilesHandlers.js"
import * as Settings from "./Settings.js"

export { FileContentApi, FilesApi, TusApi } from "./FilesApi.js"

/** The handlers of the files groups (`TusApi`, `FilesApi`, `FileContentApi`), for the API's layer. */
export const handlers = Layer.mergeAll(FilesHandlers, FileContentHandlers, TusHandlers).pipe(
  Layer.provide(DownloadAuthentication.layer),
)

/**
 * What files need beside the app's storage (which brings the FileStore): blobs under `DATA_DIR/files`, the
 * per-upload locks, the upload settings, and the worker that removes expired uploads.
 */
export const layer = ExpiryWorker.layer.pipe(
  Layer.provideMerge(Layer.mergeAll(FsBlobStore.layerConfig, Files.UploadLocks.layer, Settings.layerConfig)),
)
