/** An ORC file the reader cannot read: corrupt, or (`unsupported`) using a feature it does not decode. */
export class OrcError extends Error {
  readonly unsupported: boolean;

  constructor(message: string, unsupported = false) {
    super(message);
    this.name = 'OrcError';
    this.unsupported = unsupported;
  }
}
