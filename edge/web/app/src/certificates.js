// Certificates (证照) as the registration form keeps them, and the rules for
// fetched ones. A fetched certificate is { source: 'prefill', prefillToken,
// maskedNumber, issuer, issuedAt, holderKey, fetchedAt }, an uploaded one
// { source: 'upload', fileId, fileName }. The edge seals a prefill token
// for the parent and for the holder's document, and it expires two hours
// after the look-up.
import { normaliseDocumentNumber } from './validate.js';

/** Certificate types issued to a guardian, fetched with a guardian's document. The others are issued to the child. */
export const guardianHeldTypes = new Set(['residence_permit', 'property_certificate', 'tenancy_registration']);

// The edge accepts a token for 2 hours. The page drops it 5 minutes
// earlier, so that a token does not expire between the page's check and
// the edge's.
const prefillTokenLifetimeMs = (120 - 5) * 60 * 1000;

/** Returns the key of a document as the edge compares holders: its type and normalised number, or '' for none. */
export function documentKey(document) {
  if (!document?.type || document.type === 'none' || !document.number) return '';
  return `${document.type}:${normaliseDocumentNumber(document.number)}`;
}

/** Returns the documents that may hold a certificate of type: the child's, or each guardian's. */
export function holderDocuments(type, childDocument, guardians) {
  if (guardianHeldTypes.has(type)) return (guardians || []).map((guardian) => guardian.document);
  return [childDocument];
}

/**
 * Returns why a fetched certificate can no longer be sent, or '' when it
 * can. 'expired' means the token is too old, or missing as in a draft saved
 * before tokens existed. 'holder_changed' means that no eligible holder has
 * the document it was fetched with. Uploaded certificates return ''.
 */
export function fetchedCertificateProblem(type, certificate, childDocument, guardians, now = Date.now()) {
  if (certificate?.source !== 'prefill') return '';
  if (!certificate.prefillToken || !(now - certificate.fetchedAt < prefillTokenLifetimeMs)) return 'expired';
  const keys = holderDocuments(type, childDocument, guardians).map(documentKey);
  return keys.includes(certificate.holderKey) ? '' : 'holder_changed';
}

/** Returns the certificate's entry in POST /api/v1/registrations. */
export function certificateBody(type, certificate) {
  return certificate.source === 'prefill'
    ? { type, source: 'prefill', prefillToken: certificate.prefillToken }
    : { type, source: 'upload', fileId: certificate.fileId };
}

/** Returns the form path of "certificates[i]…" from the edge, where certificateTypes[i] is that entry's type. */
export function certificatePath(path, certificateTypes) {
  const found = /^certificates\[(\d+)\]/.exec(path);
  if (!found) return path;
  const type = certificateTypes[Number(found[1])];
  return type ? `certificates.${type}` : 'certificates';
}
