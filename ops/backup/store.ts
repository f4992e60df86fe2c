/**
 * Where backups live. Names sort by time (`20260218T031500123Z.dump`), so the last listed is the
 * latest; each backup carries its metadata (metadata.ts). Two implementations: Azure Blob
 * (azure-blob-store.ts) and a local directory (local-dir-store.ts).
 */
import type { Readable } from 'node:stream';
import type { BackupMetadata } from './metadata.js';

export interface BackupInfo {
  name: string;
  /** Bytes actually stored (compare with metadata.sizeBytes: a mismatch means truncation). */
  storedBytes: number;
  lastModified: Date;
  /** Null when the metadata is missing or unreadable; `metadataProblem` says why. */
  metadata: BackupMetadata | null;
  metadataProblem?: string;
}

export interface BackupStore {
  /** Where, for reports: no keys, no SAS tokens. */
  readonly description: string;
  /**
   * Streams `body` into the store under `name`. `metadata()` is called once the body has ended
   * (size and hash are known only then); the backup becomes visible with its metadata at once,
   * and never when the body fails.
   */
  upload(name: string, body: Readable, metadata: () => BackupMetadata, signal?: AbortSignal): Promise<void>;
  /** All backups, oldest first. */
  list(): Promise<BackupInfo[]>;
  download(name: string, toFile: string, signal?: AbortSignal): Promise<void>;
  delete(name: string): Promise<void>;
}

const NAME = /^\d{8}T\d{9}Z\.dump$/;

/** `2026-02-18T03:15:00.123Z` -> `20260218T031500123Z.dump` */
export function backupName(at: Date): string {
  return `${at.toISOString().replace(/[-:.]/g, '')}.dump`;
}

export function isBackupName(name: string): boolean {
  return NAME.test(name);
}

export function assertBackupName(name: string): void {
  if (!isBackupName(name))
    throw new Error(`${JSON.stringify(name)} is not a backup name (like 20260218T031500123Z.dump)`);
}

export async function latestBackup(store: Pick<BackupStore, 'list'>): Promise<BackupInfo | null> {
  return (await store.list()).at(-1) ?? null;
}
