/** One ajv instance for the ops configuration schemas, and readable error lists. */
import { Ajv, type ErrorObject, type JSONSchemaType, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS: under NodeNext its default export arrives wrapped once more.
type AddFormats = (ajv: Ajv, formats: string[]) => Ajv;
const wrapped = addFormatsModule as unknown as AddFormats | { default: AddFormats };
const addFormats: AddFormats = typeof wrapped === 'function' ? wrapped : wrapped.default;
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
addFormats(ajv, ['uuid', 'uri', 'regex', 'date']);
const compiled = new Map<unknown, ValidateFunction>();

export function compileSchema<T>(schema: JSONSchemaType<T>): ValidateFunction<T> {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate as ValidateFunction<T>;
}

/** `  - /checks/daily.x/severity: must be equal to one of the allowed values (low, ...)` */
export function formatErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => {
      const where = e.instancePath || '/';
      const extra =
        e.keyword === 'enum'
          ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})`
          : e.keyword === 'additionalProperties'
            ? ` (${(e.params as { additionalProperty: string }).additionalProperty})`
            : '';
      return `  - ${where}: ${e.message ?? 'invalid'}${extra}`;
    })
    .join('\n');
}
