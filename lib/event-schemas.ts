import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { CfnRegistry, CfnSchema } from 'aws-cdk-lib/aws-eventschemas';
import { Construct } from 'constructs';
import { SchemaFileError } from './errors.ts';

const SCHEMA_FILE_SUFFIX = '.schema.json';
/** The only draft the registry's `JSONSchemaDraft4` type accepts. */
const DRAFT_04 = /^https?:\/\/json-schema\.org\/draft-04\/schema#?$/;
/** EventBridge limits a schema's content to 100,000 characters. */
const MAX_CONTENT_LENGTH = 100_000;

export interface SchemaFile {
  /** The schema's name in the registry: the file name without `.schema.json`. */
  readonly name: string;
  readonly file: string;
  /** The schema, re-serialised without whitespace. */
  readonly content: string;
}

function readSchemaFile(file: string): SchemaFile {
  const name = basename(file, SCHEMA_FILE_SUFFIX);
  if (!/^[.\-_A-Za-z0-9@]{1,385}$/.test(name)) {
    throw new SchemaFileError(
      file,
      `"${name}" is not a schema name: use letters, digits, ".", "-", "_" or "@"`,
    );
  }
  let schema: unknown;
  try {
    schema = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new SchemaFileError(file, `not readable JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new SchemaFileError(file, 'a JSON Schema must be a JSON object');
  }
  const draft = (schema as { $schema?: unknown }).$schema;
  if (draft !== undefined && !(typeof draft === 'string' && DRAFT_04.test(draft))) {
    throw new SchemaFileError(
      file,
      `"$schema" is ${JSON.stringify(draft)}, but the EventBridge schema registry takes JSON Schema draft-04 ` +
        '("http://json-schema.org/draft-04/schema#"); generate it with target "draft-04"',
    );
  }
  const content = JSON.stringify(schema);
  if (content.length > MAX_CONTENT_LENGTH) {
    throw new SchemaFileError(
      file,
      `${content.length} characters; EventBridge accepts at most ${MAX_CONTENT_LENGTH}`,
    );
  }
  return { name, file, content };
}

/** Every `*.schema.json` of the directory, in name order; none when the directory does not exist. */
export function readSchemaFiles(directory: string): SchemaFile[] {
  if (!existsSync(directory)) return [];
  return readdirSync(directory)
    .filter((name) => name.endsWith(SCHEMA_FILE_SUFFIX))
    .sort()
    .map((name) => readSchemaFile(resolve(directory, name)));
}

/**
 * An EventBridge schema registry holding the JSON Schema of the events on the bus, so subscribers can
 * browse it and download code bindings in the console.
 */
export class EventSchemas extends Construct {
  readonly registry: CfnRegistry;
  readonly schemas: CfnSchema[];

  constructor(scope: Construct, id: string, files: readonly SchemaFile[]) {
    super(scope, id);
    this.registry = new CfnRegistry(this, 'Registry', {
      description: 'Schemas of the okePay payment events on the pipeline bus',
    });
    this.schemas = files.map(
      (schemaFile) =>
        new CfnSchema(this, schemaFile.name, {
          registryName: this.registry.attrRegistryName,
          schemaName: schemaFile.name,
          type: 'JSONSchemaDraft4',
          content: schemaFile.content,
          description: `Generated file events/schema/${basename(schemaFile.file)}`,
        }),
    );
  }
}
