export const shnetVersion = '0.1.0';
