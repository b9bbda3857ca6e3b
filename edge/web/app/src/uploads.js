// Certificate file uploads, shared by the registration and application
// forms. The edge accepts JPG, PNG and PDF files of up to 5 MB, judged by
// their first bytes, and seals each for the parent who uploaded it. A form
// certificate may accept fewer types or a smaller size, which this page
// checks before the upload.
import { api } from './api.js';
import { fields } from './texts.js';

/** The largest file the edge's upload route accepts, in bytes. */
export const maxUploadBytes = 5 * 1024 * 1024;

/** The file types of the certificate library, by their MIME types. */
export const uploadTypes = { jpg: 'image/jpeg', png: 'image/png', pdf: 'application/pdf' };

/**
 * Returns why file cannot be uploaded for a certificate that accepts
 * acceptedTypes (keys of uploadTypes) up to maxSizeKB, or '' when it can.
 * A browser that gives no MIME type leaves the type to the edge's check.
 */
export function uploadProblem(file, acceptedTypes = Object.keys(uploadTypes), maxSizeKB = maxUploadBytes / 1024) {
  const maxBytes = Math.min(maxUploadBytes, maxSizeKB * 1024);
  if (file.size > maxBytes) return maxBytes < maxUploadBytes ? fields.certificateFileOverLimit(maxSizeKB) : fields.certificateFileTooLarge;
  const mimeTypes = acceptedTypes.map((type) => uploadTypes[type]).filter(Boolean);
  if (file.type && !mimeTypes.includes(file.type)) {
    return mimeTypes.length === Object.keys(uploadTypes).length ? fields.certificateFileType : fields.certificateFileTypes(acceptedTypes);
  }
  return '';
}

/** Uploads file and returns the certificate the forms keep: { source: 'upload', fileId, fileName }. */
export async function uploadCertificateFile(file) {
  const uploaded = await api.upload(file);
  return { source: 'upload', fileId: uploaded.fileId, fileName: file.name };
}

/** Returns the accept attribute of a file input for acceptedTypes. */
export function acceptAttribute(acceptedTypes = Object.keys(uploadTypes)) {
  return acceptedTypes.map((type) => uploadTypes[type]).filter(Boolean).join(',');
}
