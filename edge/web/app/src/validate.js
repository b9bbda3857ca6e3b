// Checks that run in the browser before a submission, so that a missing
// field or an obvious typo is caught without a round trip. They are a
// subset of the edge's checks: the edge is the judge. For example the
// province code of a resident ID is left to the edge.
import { checks, documentTypes, fields as fieldTexts } from './texts.js';
import { getAt } from './paths.js';
import { formatDate } from './format.js';
import { linkage } from './linkage.js';

const residentIdPattern = /^[0-9]{17}[0-9X]$/;
const hmtPermitPattern = /^8[123]0000[0-9]{11}[0-9X]$/;
const hkMacauPattern = /^[HM]([0-9]{8}|[0-9]{10})$/;
const taiwanPattern = /^([0-9]{8}|[0-9]{10}(\([A-Z]\))?)$/;
const passportPattern = /^[A-Z0-9]{5,17}$/;
const mainlandMobilePattern = /^1[3-9][0-9]{9}$/;
const internationalPhonePattern = /^(\+|00)[0-9]{8,15}$/;
const datePattern = /^\d{4}-\d{2}-\d{2}$/;
const hanPattern = /\p{Script=Han}/u;

// GB 11643-1999: the weights of the first 17 digits of an 18-character ID,
// and the check character for each weighted sum modulo 11 (ISO 7064 MOD 11-2).
const idWeights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const idCheckCharacters = '10X98765432';
// The edge accepts no birth year before this one in an 18-character ID.
const minIdBirthYear = 1900;

// The edge's limits, in characters, of fields whose schema entry may not give one.
export const guardianNameMaxLength = 60;
export const addressMaxLength = 100;
export const extraTextMaxLength = 500;

/** Returns a document number as the edge reads it: half-width, upper case, without spaces or hyphens. */
export function normaliseDocumentNumber(number) {
  return (number || '')
    .replace(/[\uFF01-\uFF5E]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xFEE0))
    .replace(/[\s\-\u2010-\u2015\u3000]/g, '')
    .toUpperCase();
}

function compactPhone(phone) {
  return (phone || '')
    .replace(/[\uFF01-\uFF5E]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xFEE0))
    .replace(/[\s\-()\u2010-\u2015\u3000\u200B-\u200F\u202A-\u202E]/g, '');
}

export function isPhone(phone) {
  const compact = compactPhone(phone).replace(/^(\+86|0086)(?=1)/, '');
  return mainlandMobilePattern.test(compact) || internationalPhonePattern.test(compact);
}

function isValidDate(text) {
  if (!datePattern.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

/**
 * Returns the number of characters in text: the code points of the trimmed
 * text. The edge also folds runs of spaces in an address into one, so this
 * count is never below the edge's.
 */
export function characterCount(text) {
  return [...(text || '').trim()].length;
}

/**
 * Returns the longest child name the edge accepts: the schema's maxLength
 * for a name in Chinese characters, twice that for one in Latin letters,
 * as on a foreign child's passport.
 */
export function nameMaxLength(field, value) {
  if (!field.maxLength) return 0;
  return hanPattern.test(value || '') ? field.maxLength : field.maxLength * 2;
}

/** Returns the GB 11643 check character of the first 17 digits of an ID number. */
export function idCheckCharacter(first17) {
  const sum = [...first17].reduce((total, digit, i) => total + Number(digit) * idWeights[i], 0);
  return idCheckCharacters[sum % 11];
}

// Returns today's date in Shanghai as "2027-01-31".
function shanghaiToday() {
  return new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
}

// Returns the birth date encoded in digits 7 to 14 of an 18-character ID
// number if it is a real date between 1900 and today, else ''.
function idBirthDate(normalised) {
  const birthDate = `${normalised.slice(6, 10)}-${normalised.slice(10, 12)}-${normalised.slice(12, 14)}`;
  const year = Number(normalised.slice(6, 10));
  if (!isValidDate(birthDate) || year < minIdBirthYear || birthDate > shanghaiToday()) return '';
  return birthDate;
}

// Checks the birth date and the check character of an 18-character number
// whose shape the caller has checked.
function gb11643Problem(type, normalised) {
  const label = documentTypes[type];
  if (!idBirthDate(normalised)) return checks.idBirthDate(label);
  if (idCheckCharacter(normalised.slice(0, 17)) !== normalised[17]) return checks.idChecksum(label);
  return '';
}

/**
 * Reports whether a child with this identity document must name the
 * province of a hukou outside Shanghai. As on the edge, only a resident ID
 * does: a Hong Kong, Macau, Taiwan or foreign document names none.
 */
export function provinceRequired(childDocument) {
  return (childDocument?.type || 'resident_id') === 'resident_id';
}

/** Returns the message for a document number that cannot be valid, or ''. */
export function documentNumberProblem(type, number) {
  const normalised = normaliseDocumentNumber(number);
  switch (type) {
    case 'resident_id':
      return residentIdPattern.test(normalised) ? gb11643Problem(type, normalised) : checks.residentIdFormat;
    case 'hmt_residence_permit':
      return hmtPermitPattern.test(normalised) ? gb11643Problem(type, normalised) : checks.hmtPermitFormat;
    case 'hk_macau_permit': return hkMacauPattern.test(normalised) ? '' : checks.hkMacauFormat;
    case 'taiwan_permit': return taiwanPattern.test(normalised) ? '' : checks.taiwanFormat;
    case 'passport': return passportPattern.test(normalised) ? '' : checks.passportFormat;
    default: return '';
  }
}

/**
 * Reads the birth date and sex that an 18-digit resident ID or HMT
 * residence permit number encodes. Returns null for other numbers.
 */
export function decodeIdNumber(type, number) {
  const normalised = normaliseDocumentNumber(number);
  if ((type !== 'resident_id' && type !== 'hmt_residence_permit') || !/^[0-9]{17}[0-9X]$/.test(normalised)) return null;
  const birthDate = idBirthDate(normalised);
  if (!birthDate) return null;
  return { birthDate, sex: Number(normalised[16]) % 2 === 1 ? 'M' : 'F' };
}

/** Collects problems as { path, message, code }. */
class Problems {
  list = [];

  add(path, message, code = 'invalid_field') {
    this.list.push({ path, message, code });
  }

  required(path, value, label) {
    const blank = value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
    if (blank) this.add(path, checks.required(label), 'missing_field');
    return !blank;
  }

  chosen(path, value, label) {
    const blank = value === undefined || value === null || value === '';
    if (blank) this.add(path, checks.choose(label), 'missing_field');
    return !blank;
  }

  maxLength(path, value, label, max) {
    if (max && typeof value === 'string' && characterCount(value) > max) {
      this.add(path, checks.tooLong(label, max), 'too_long');
    }
  }

  has(path) {
    return this.list.some((problem) => problem.path === path);
  }
}

// The sex and birth date must match what a valid ID number encodes. A
// number that does not decode has its own problem already.
function checkChildAgainstDocument(problems, child) {
  const decoded = decodeIdNumber(child?.document?.type, child?.document?.number);
  if (!decoded || problems.has('child.document.number')) return;
  if (child.sex && child.sex !== decoded.sex && !problems.has('child.sex')) {
    problems.add('child.sex', checks.sexMismatch, 'sex_mismatch');
  }
  if (child.birthDate && child.birthDate !== decoded.birthDate && !problems.has('child.birthDate')) {
    problems.add('child.birthDate', checks.birthDateMismatch, 'birth_date_mismatch');
  }
}

function checkDocument(problems, path, document, { withNationality = true } = {}) {
  if (!problems.chosen(`${path}.type`, document?.type, fieldTexts.documentType)) return;
  if (document.type === 'none') return;
  if (!problems.required(`${path}.number`, document.number, fieldTexts.documentNumber)) return;
  const problem = documentNumberProblem(document.type, document.number);
  if (problem) problems.add(`${path}.number`, problem, 'invalid_document_number');
  if (withNationality && document.type === 'passport') {
    if (problems.chosen(`${path}.nationality`, document.nationality, fieldTexts.nationality)
        && !/^[A-Za-z]{3}$/.test(document.nationality.trim())) {
      problems.add(`${path}.nationality`, checks.nationalityFormat, 'invalid_nationality');
    }
  }
}

function checkDivision(problems, path, value, committeesRequired, districtLabel) {
  if (!problems.chosen(`${path}.districtCode`, value?.districtCode, districtLabel)) return;
  if (!problems.chosen(`${path}.streetCode`, value.streetCode, fieldTexts.street)) return;
  if (committeesRequired(value.streetCode)) problems.chosen(`${path}.committeeCode`, value.committeeCode, fieldTexts.committee);
}

function checkGuardian(problems, path, guardian, proofShown) {
  problems.chosen(`${path}.relation`, guardian.relation, fieldTexts.relation);
  if (problems.required(`${path}.name`, guardian.name, fieldTexts.guardianName)) {
    problems.maxLength(`${path}.name`, guardian.name, fieldTexts.guardianName, guardianNameMaxLength);
  }
  if (problems.required(`${path}.phone`, guardian.phone, fieldTexts.phone) && !isPhone(guardian.phone)) {
    problems.add(`${path}.phone`, checks.phoneFormat, 'invalid_phone');
  }
  checkDocument(problems, `${path}.document`, guardian.document);
  const proof = guardian.shanghaiResidence;
  if (proofShown && proof?.type) {
    const number = normaliseDocumentNumber(proof.number);
    if (!/^[A-Z0-9]{4,32}$/.test(number)) {
      problems.add(`${path}.shanghaiResidence.number`, checks.residenceProofNumber, 'invalid_residence_document_number');
    }
  }
}

// Reports whether the whole of text matches an RE2 pattern from the form.
// A pattern that JavaScript cannot compile (RE2 has a few forms it lacks,
// such as (?i) inside the pattern) passes here, and the edge checks it.
function matchesPattern(pattern, text) {
  let compiled;
  try {
    compiled = new RegExp(`^(?:${pattern})$`, 'u');
  } catch {
    return true;
  }
  return compiled.test(text);
}

function checkExtra(problems, field, value, required) {
  const { key, label } = field;
  if (field.type === 'boolean') return;
  const blank = value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
  if (blank) {
    if (required) problems.add(key, field.type === 'select' ? checks.choose(label) : checks.required(label), 'missing_field');
    return;
  }
  switch (field.type) {
    case 'number': {
      const number = Number(value);
      if (!Number.isFinite(number)) problems.add(key, checks.number(label), 'invalid_field_type');
      else if ((field.min !== undefined && number < field.min) || (field.max !== undefined && number > field.max)) {
        problems.add(key, checks.range(label), 'out_of_range');
      }
      return;
    }
    case 'date':
      if (!isValidDate(value.trim())) problems.add(key, checks.date(label), 'invalid_date');
      return;
    case 'phone':
      if (!isPhone(value)) problems.add(key, checks.phoneFormat, 'invalid_phone');
      return;
    case 'select':
      return;
    case 'id_number': {
      const problem = documentNumberProblem('resident_id', value);
      if (problem) problems.add(key, problem, 'invalid_field_type');
      return;
    }
    default:
      problems.maxLength(key, value, label, field.maxLength || extraTextMaxLength);
      if (problems.has(key)) return;
      if (field.minLength && characterCount(value.trim()) < field.minLength) {
        problems.add(key, checks.minLength(label, field.minLength), 'too_short');
      } else if (field.pattern && !matchesPattern(field.pattern, value.trim())) {
        problems.add(key, field.patternMessage || checks.pattern(label), 'pattern_mismatch');
      }
  }
}

/**
 * Checks a form's model against its schema and returns the problems found,
 * in the order of the form. context has year (the catalogue's year),
 * committeesRequired(streetCode) and proofShown (whether guardians'
 * Shanghai residence documents apply).
 */
export function checkForm(schema, model, context) {
  const problems = new Problems();
  const rules = linkage(schema, model);
  for (const section of schema.sections || []) {
    for (const field of section.fields || []) {
      const value = getAt(model, field.key);
      const path = field.key;
      if (path.startsWith('extra.')) {
        if (rules.shown(field)) checkExtra(problems, field, value, rules.required(field));
        continue;
      }
      switch (field.type) {
        case 'name':
          if (field.required && !problems.required(path, value, field.label)) break;
          problems.maxLength(path, value, field.label, nameMaxLength(field, value));
          break;
        case 'text':
          if (field.required && !problems.required(path, value, field.label)) break;
          problems.maxLength(path, value, field.label, field.maxLength);
          break;
        case 'sex':
          if (field.required) problems.chosen(path, value, field.label);
          break;
        case 'date':
          if (!value) {
            if (field.required) problems.required(path, value, field.label);
          } else if (!isValidDate(value)) {
            problems.add(path, checks.date(field.label), 'invalid_date');
          } else if (path === 'child.birthDate' && context.year
              && (value < context.year.birthFrom || value > context.year.birthTo)) {
            problems.add(path, checks.birthWindow(formatDate(context.year.birthFrom), formatDate(context.year.birthTo)),
              'child_outside_age_window');
          }
          break;
        case 'document':
          checkDocument(problems, path, value);
          break;
        case 'hukou':
          if (!value || value.inShanghai === null || value.inShanghai === undefined) {
            problems.add(`${path}.inShanghai`, checks.choose(fieldTexts.inShanghai), 'missing_field');
          } else if (value.inShanghai) {
            checkDivision(problems, path, value, context.committeesRequired, fieldTexts.hukouDistrict);
            if (problems.required(`${path}.address`, value.address, fieldTexts.hukouAddress)) {
              problems.maxLength(`${path}.address`, value.address, fieldTexts.hukouAddress, addressMaxLength);
            }
          } else if (provinceRequired(model.child?.document)) {
            problems.chosen(`${path}.province`, value.province, fieldTexts.province);
          }
          break;
        case 'address':
          checkDivision(problems, path, value, context.committeesRequired, fieldTexts.residenceDistrict);
          if (problems.required(`${path}.address`, value?.address, fieldTexts.detailAddress)) {
            problems.maxLength(`${path}.address`, value.address, fieldTexts.detailAddress, field.maxLength || addressMaxLength);
          }
          break;
        case 'guardians': {
          const list = value || [];
          const min = field.min ?? 1;
          const max = field.max ?? 2;
          if (list.length < min || list.length > max) problems.add(path, checks.guardianCount(min, max), 'invalid_guardian_count');
          list.forEach((guardian, i) => checkGuardian(problems, `${path}[${i}]`, guardian, context.proofShown));
          break;
        }
        default:
          // boolean, certificates and the application's own widgets need no
          // check here; the pages check entry and choices themselves.
          break;
      }
    }
  }
  if (model.child) checkChildAgainstDocument(problems, model.child);
  return problems.list;
}
