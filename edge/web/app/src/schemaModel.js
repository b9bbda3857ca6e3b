// The model behind a schema-rendered form, and the request bodies built
// from it. A field's key is its path in the request (docs/edge-api.md), so
// the model is laid out like the request; "extra.x" keys live in
// model.extra.x.
import { certificateBody } from './certificates.js';
import { linkage } from './linkage.js';
import { getAt, setAt } from './paths.js';

/**
 * Adds to model the fields of schema it lacks, at their starting values, so
 * a form loaded after the page (a district's own version) can be filled.
 */
export function extendModel(model, schema) {
  for (const section of schema.sections || []) {
    for (const field of section.fields || []) {
      if (getAt(model, field.key) === undefined) setAt(model, field.key, initialValue(field));
    }
  }
}

/** Returns an empty guardian as the form keeps it. */
export function emptyGuardian() {
  return {
    relation: '',
    name: '',
    phone: '',
    document: { type: 'resident_id', number: '', nationality: '' },
    hukouInShanghai: false,
    shanghaiResidence: { type: '', number: '', pointsQualified: false },
  };
}

function emptyDivision() {
  return { districtCode: '', streetCode: '', committeeCode: '', address: '' };
}

/** Returns the starting value of a field, by its type. */
export function initialValue(field) {
  switch (field.type) {
    case 'boolean':
      return false;
    case 'document':
      return { type: field.documentTypes?.[0] || 'resident_id', number: '', nationality: '' };
    case 'hukou':
      return { inShanghai: null, province: '', ...emptyDivision() };
    case 'address':
      return emptyDivision();
    case 'guardians':
      return Array.from({ length: Math.max(1, field.min ?? 1) }, emptyGuardian);
    case 'certificates':
      return {};
    case 'campusChoices':
      return [];
    case 'entry':
      return '';
    default:
      return '';
  }
}

/** Returns a model with every field of schema at its starting value. */
export function createModel(schema) {
  const model = { extra: {} };
  for (const section of schema.sections || []) {
    for (const field of section.fields || []) {
      setAt(model, field.key, initialValue(field));
    }
  }
  return model;
}

/** Returns the form's fields whose key starts with "extra.". */
export function extraFields(schema) {
  return (schema.sections || []).flatMap((section) => section.fields || []).filter((field) => field.key.startsWith('extra.'));
}

/**
 * Returns the request's extra object: each non-blank value typed by its
 * field (number as a number, boolean as a boolean, others as trimmed text).
 */
export function buildExtra(schema, model) {
  const extra = {};
  const rules = linkage(schema, model);
  for (const field of extraFields(schema)) {
    if (!rules.shown(field)) continue;
    const name = field.key.slice('extra.'.length);
    const value = model.extra?.[name];
    if (field.type === 'boolean') {
      extra[name] = Boolean(value);
    } else if (field.type === 'number') {
      if (value !== '' && value !== null && value !== undefined) extra[name] = Number(value);
    } else if (typeof value === 'string' && value.trim() !== '') {
      extra[name] = value.trim();
    }
  }
  return extra;
}

function documentBody(document) {
  return {
    type: document.type,
    number: document.type === 'none' ? '' : document.number.trim(),
    nationality: document.type === 'passport' ? document.nationality.trim().toUpperCase() : '',
  };
}

function divisionBody(value) {
  return {
    districtCode: value.districtCode,
    streetCode: value.streetCode,
    committeeCode: value.committeeCode,
    address: value.address.trim(),
  };
}

/**
 * Builds the body of POST /api/v1/registrations. Returns { body,
 * certificateTypes }, where certificateTypes[i] is the type of
 * body.certificates[i], to place the edge's "certificates[i]" errors.
 */
export function buildRegistration(model, { year, schemaVersion, schema, proofShown }) {
  // A schema without one of the fixed parts still yields a complete body,
  // and the edge names what is missing.
  const child = { name: '', sex: '', birthDate: '', ...model.child };
  child.document ||= initialValue({ type: 'document' });
  const hukou = child.hukou || initialValue({ type: 'hukou' });
  const residence = model.residence || initialValue({ type: 'address' });
  const certificateTypes = Object.keys(model.certificates || {});
  const body = {
    enrolmentYear: year,
    schemaVersion,
    child: {
      name: child.name.trim(),
      sex: child.sex,
      birthDate: child.birthDate,
      document: documentBody(child.document),
      hukou: hukou.inShanghai
        ? { inShanghai: true, ...divisionBody(hukou), province: '' }
        : { inShanghai: false, districtCode: '', streetCode: '', committeeCode: '', address: '', province: hukou.province },
    },
    residence: { ...divisionBody(residence), atHukouAddress: Boolean(residence.atHukouAddress) },
    guardians: (model.guardians || []).map((guardian) => {
      const proof = guardian.shanghaiResidence;
      return {
        relation: guardian.relation,
        name: guardian.name.trim(),
        phone: guardian.phone.trim(),
        document: documentBody(guardian.document),
        hukouInShanghai: Boolean(guardian.hukouInShanghai),
        shanghaiResidence: proofShown && proof.type
          ? { type: proof.type, number: proof.number.trim(), pointsQualified: proof.type === 'sh_residence_permit' && proof.pointsQualified }
          : null,
      };
    }),
    certificates: certificateTypes.map((type) => certificateBody(type, model.certificates[type])),
    extra: buildExtra(schema, model),
  };
  return { body, certificateTypes };
}
