<?php
/*
 * Plugin Name: Loa post marker
 * Description: Lets Loa mark the articles it publishes, so that it never takes over an article a person wrote.
 * Version: 1
 *
 * Install as a must-use plugin: copy this file to wp-content/mu-plugins/ (see docs/channels.md, WordPress).
 *
 * It registers one post meta field, _loa_post_id (the id of the Markdown post the article was published
 * from), for the REST API. Loa writes it on every article it creates or updates, and adopts an existing
 * article with the same slug only when this field carries the post's own id. Without this plugin WordPress
 * drops the field silently, so Loa refuses to publish and `loa channels check` says so.
 * The leading underscore keeps the field out of the editor's "Custom Fields" box.
 */
if (!defined('ABSPATH')) { exit; }

add_action('init', function () {
    register_post_meta('post', '_loa_post_id', array(
        'type'          => 'string',
        'description'   => 'Loa: id of the post this article was published from',
        'single'        => true,
        'default'       => '',
        'show_in_rest'  => array('schema' => array('context' => array('edit'))),  // not shown to anonymous readers
        // read and written only by someone who may edit the article (Loa's publishing user)
        'auth_callback' => function ($allowed, $meta_key, $post_id) {
            return current_user_can('edit_post', $post_id);
        },
    ));
});

/*
 * Loa's images (file names loa-img-<sha256 prefix>.<ext>) go to wp-content/uploads/loa/, not to a
 * year/month folder, so that their public address can be known before they are uploaded: a Zalo
 * article's cover is a URL Zalo's servers fetch (channels.<zalo>.media_names = "wordpress").
 */
$GLOBALS['loa_image_upload'] = false;
$loa_mark = function ($file) {
    $GLOBALS['loa_image_upload'] = isset($file['name']) && strpos(basename($file['name']), 'loa-img-') === 0;
    return $file;
};
add_filter('wp_handle_upload_prefilter', $loa_mark);
add_filter('wp_handle_sideload_prefilter', $loa_mark);
add_filter('upload_dir', function ($dirs) {
    if (empty($GLOBALS['loa_image_upload'])) {
        return $dirs;
    }
    $dirs['subdir'] = '/loa';
    $dirs['path'] = $dirs['basedir'] . '/loa';
    $dirs['url'] = $dirs['baseurl'] . '/loa';
    return $dirs;
});

