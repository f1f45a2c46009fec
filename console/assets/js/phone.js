// Phone numbers as people type them.

/**
 * looksLikePhone is true for a number in any common spelling:
 * +1 555 000 1111, (555) 000-1111, 15550001111, 0044 20 7946 0000.
 */
export function looksLikePhone(q) {
  if (!/^\+?[\d\s().\-/]+$/.test(q)) return false;
  const digits = q.replace(/\D/g, '');
  return digits.length >= 7 && digits.length <= 15;
}

/**
 * phoneSpellings normalises a number to E.164 ("+15550001111") and
 * returns the spellings a provider may have stored: with and without the
 * "+" (Vonage reports numbers without it). A 10-digit number without a
 * country code is taken as North American (+1); "00" is the international
 * prefix.
 */
export function phoneSpellings(q) {
  let digits = q.replace(/\D/g, '');
  const plus = q.trim().startsWith('+');
  if (!plus && digits.startsWith('00')) digits = digits.slice(2);
  else if (!plus && digits.length === 10) digits = '1' + digits;
  return ['+' + digits, digits];
}
