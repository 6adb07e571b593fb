import jsQR from 'jsqr';
import { PNG } from 'pngjs';

/** What a PNG's QR code says, read back with jsQR: a decoder independent of the one that drew it. */
export function decodeQr(png: Buffer): string | undefined {
	const image = PNG.sync.read(png);
	return jsQR(new Uint8ClampedArray(image.data), image.width, image.height)?.data;
}
