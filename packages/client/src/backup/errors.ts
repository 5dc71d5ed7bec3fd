// The errors of backup and restore (ClientErrors: the CLI prints their message as is).
import { ClientError } from '../errors.js';

/** The backup cannot be taken (directory not empty, GC safe point moved past the backup ts...). */
export class BackupError extends ClientError {
  constructor(message: string) {
    super(message, false);
  }
}

/** A backup that fails verification; `file` is the file at fault (manifest.json included). Nothing was restored. */
export class BackupDamagedError extends ClientError {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message, false);
  }
}

/** The restore target holds data already. Nothing was restored. */
export class TargetNotEmptyError extends ClientError {
  constructor(message: string) {
    super(message, false);
  }
}
