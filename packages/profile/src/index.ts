/**
 * @tandem/profile — AnyConnect XML client profiles → typed model.
 */
export type * from './model.js';
