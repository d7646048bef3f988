// A recipient's domain in its ASCII (punycode) form, as SES takes it (nodemailer converts on its own).
import { domainToASCII } from 'node:url';

/** zoe@bücher.example becomes zoe@xn--bcher-kva.example; the local part is left as it is. */
export const asciiDomain = (address: string): string => {
  const at = address.lastIndexOf('@');
  const ascii = at === -1 ? '' : domainToASCII(address.slice(at + 1));
  return ascii === '' ? address : `${address.slice(0, at + 1)}${ascii}`;
};
