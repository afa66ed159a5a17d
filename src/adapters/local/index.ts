/** Local adapters: the lake in a folder, the catalog as JSON in the lake. */
export { FS_STORE_INTERNAL_DIR, FsObjectStore, md5Etag } from './fs-object-store.ts';
export { LOCAL_CATALOG_PREFIX, LocalCatalog, type LocalCatalogFile, localCatalogKey } from './local-catalog.ts';
export { MemoryObjectStore } from './memory-object-store.ts';
