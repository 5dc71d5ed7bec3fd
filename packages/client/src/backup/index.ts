// Backup and restore of a cluster's data (what `tinykv backup` and `tinykv restore` run).
export type { BackupOptions, BackupSummary } from './backup.js';
export { backup } from './backup.js';
export { BackupDamagedError, BackupError, TargetNotEmptyError } from './errors.js';
export type { BackupRecord, CfStats, Column, FileEntry, Manifest, RawCf, RegionEntry } from './format.js';
export { FORMAT_NAME, FORMAT_VERSION, MANIFEST, RAW_CFS } from './format.js';
export type { ProgressBarOptions, ProgressSink, ProgressState } from './progress.js';
export { NO_PROGRESS, ProgressBar, progressLine } from './progress.js';
export type { RestoreOptions, RestoreSummary } from './restore.js';
export { backupRecords, restore, verifyBackup } from './restore.js';
export { MB, RateLimiter } from './throttle.js';
