// Copies the SVG icons next to the compiled nodes and credentials, where their
// `file:` references point.
const { src, dest, parallel } = require('gulp');

function nodeIcons() {
	return src('icons/*.svg').pipe(dest('dist/icons'));
}

exports['build:icons'] = parallel(nodeIcons);
