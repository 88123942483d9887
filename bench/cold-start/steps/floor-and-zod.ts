/** Cold-start attribution: the ingest floor plus the zod library (one trivial schema). */
import * as z from 'zod';

export * from '../floor-ingest.ts';
export const trivialSchema = z.object({ id: z.string() });
