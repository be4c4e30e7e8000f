export * from './athena';
export * from './csv';
export * from './errors';
export * from './glue';
export * from './redshift';
export * from './s3';
export * from './sql';
export * from './sync';
export { type PollOptions } from './wait';
