/** The Change Detector's engine: plain functions, no n8n imports. */
export * from '../cursor';
export * from './detect';
export * from './events';
export * from './fields';
export * from './keys';
export * from './paths';
export * from '../signature';
