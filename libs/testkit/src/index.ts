export { encode, naturalScene, seededRandom, type RawImage } from './images.ts';
export { animatedGif, jpegWithHugeExif, pngWithDeclaredSize, randomBytes, zipArchive } from './hostile.ts';
