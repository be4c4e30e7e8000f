// The part of pg-cursor (node-postgres' cursor, without types of its own) that db-ingest uses.
declare module 'pg-cursor' {
  import type { Submittable } from 'pg';
  export default class Cursor implements Submittable {
    constructor(text: string, values?: unknown[], config?: { rowMode?: 'array'; types?: unknown });
    submit: Submittable['submit'];
    read(rows: number, callback: (err: Error | undefined, rows: unknown[], result: { fields: unknown[] }) => void): void;
    close(callback: (err?: Error) => void): void;
  }
}
